"""mibgkit.cohort."""
