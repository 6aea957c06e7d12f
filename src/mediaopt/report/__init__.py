"""Reports: result tables for the terminal and self-contained HTML pages with plots.

``replay`` formats and renders the results of ``mediaopt replay``. matplotlib is imported
only when a plot is drawn.
"""
