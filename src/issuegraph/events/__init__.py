"""Events leave the building: webhooks (GitLab and native), delivery, signing, SSRF checks."""
