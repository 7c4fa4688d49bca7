"""Gate access: signed pass tokens and the checks gates rely on."""
