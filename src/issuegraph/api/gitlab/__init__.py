"""GitLab REST API v4 face: routes and serializers only."""
