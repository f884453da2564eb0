"""Every figure the package draws (matplotlib on an Agg canvas, outside pyplot).

:mod:`.figure`: figure helpers and the labelling rule every figure passes (:func:`check_figure`);
:mod:`.session`: the plots of one analysed session; :mod:`.trends`: the plots of a trend report.
Importing this package imports nothing heavy; its modules import matplotlib.
"""
