"""Running newsintel's heavy steps past one machine, on Ray (the optional ``scale`` extra).

Nothing here imports Ray at import time: ``newsintel`` without the extra works as
before, and ``--engine ray`` without it fails with one line saying how to install it.
"""
