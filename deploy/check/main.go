// Command deploy-check validates bkg's deployment files on a machine without a container
// engine, with the libraries the Docker tools use themselves: compose-go (what `docker compose
// config` loads a compose file with: the Compose Specification's schema, interpolation, merges)
// and BuildKit's Dockerfile parser and linter (what `docker build --check` runs).
//
// Usage:
//
//	deploy-check compose FILE     print the project's services, or the first problem
//	deploy-check dockerfile FILE  print the build stages, or every problem found
//
// It exits 0 when the file is valid, 1 when it is not, 2 on wrong usage.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "compose":
		err = checkCompose(os.Args[2])
	case "dockerfile":
		err = checkDockerfile(os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: deploy-check compose FILE | deploy-check dockerfile FILE")
	os.Exit(2)
}
