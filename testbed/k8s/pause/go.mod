// The testbed's pause (sandbox) command; built locally, no image is pulled.
module flinkfleet.local/testbed/k8s/pause

go 1.24.0
