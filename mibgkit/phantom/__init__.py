"""mibgkit.phantom."""
