"""mibgkit.detect."""
