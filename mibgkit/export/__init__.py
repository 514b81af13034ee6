"""mibgkit.export."""
