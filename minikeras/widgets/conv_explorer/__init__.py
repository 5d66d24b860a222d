"""A convolution explorer: slide a kernel over a real image and look inside a trained CNN.

* :mod:`.config` - kernel presets (edges, blur, sharpen, identity in 3x3 and 5x5), choices, colours;
* :mod:`.core` - :class:`ConvExplorerCore` (geometry, the window at each position, its
  multiply-and-add, the output map from minikeras's conv kernel) and :class:`FeatureMaps`
  (a trained CNN's layer outputs and class probabilities for one image); no browser needed;
* :mod:`.render` - the pictures (NumPy + Pillow PNGs) and HTML;
* :mod:`.controls` - the ipywidgets controls and their layout;
* :mod:`.widget` - :class:`ConvExplorer`, which connects controls, core and pictures.

ipywidgets is imported only when a :class:`ConvExplorer` is made.
"""
from .config import PRESETS, preset
from .core import ConvExplorerCore, FeatureMaps, Geometry, output_size, padding_split


def __getattr__(name):
    if name == "ConvExplorer":
        from .widget import ConvExplorer
        return ConvExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ConvExplorer", "ConvExplorerCore", "FeatureMaps", "Geometry", "PRESETS", "output_size",
           "padding_split", "preset"]
