"""Front-end-neutral definitions shared by the cdktf constructs and the Pulumi components."""
