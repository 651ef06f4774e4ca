"""Connection settings, the credential linter and the connection test ("the blue ball")."""
