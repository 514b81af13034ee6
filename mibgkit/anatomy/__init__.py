"""mibgkit.anatomy."""
