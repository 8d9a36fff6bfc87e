"""Request rate limits counted in the database, so every worker process and server shares them."""
