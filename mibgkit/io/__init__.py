"""mibgkit.io."""
