"""Signal pipeline stages: validation (imu.rawio), calibration, orientation, segmentation, metrics."""
