// Command etcd is the etcd server Kubernetes v1.36.3 is tested against. The etcd server module ships its entry
// point as a library (etcdmain); its own main lives in the root module go.etcd.io/etcd/v3, whose replaces point
// into its tree, so this is the smallest main that runs the same code.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
