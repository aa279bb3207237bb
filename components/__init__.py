"""The Gradio tabs of XLM Explorer: one module per tab, handlers at the top, layout below; plots in plots.py."""
