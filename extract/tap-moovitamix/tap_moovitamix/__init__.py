"""Singer tap for the MooVitamix API."""
