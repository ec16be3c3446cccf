"""What Orthanc holds, as the gallery reads it: levels, models, loaders, list index, cache."""
