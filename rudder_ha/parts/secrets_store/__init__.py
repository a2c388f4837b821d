"""The Secrets Store CSI driver of the eks topology and the backend's workspace-token read (cdktf only)."""
