"""Paper figures: one module per figure, the shared style in style.py."""
