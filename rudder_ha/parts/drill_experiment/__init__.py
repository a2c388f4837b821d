"""The az-loss drill's AWS FIS experiment templates and the role FIS runs them with."""
