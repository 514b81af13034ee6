"""mibgkit.convert."""
