"""Signal pipeline stages: calibration, orientation, pelvis frame, segmentation, metrics."""
