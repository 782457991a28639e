package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

// checkCompose loads a compose file the way `docker compose config` does: schema validation,
// variable interpolation (a required variable that is unset is an error) and the merge of
// extension fields and anchors. The project's name comes from the file's `name:`.
func checkCompose(file string) error {
	opts, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithConsistency(true),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("project %s: services %s\n", project.Name, strings.Join(project.ServiceNames(), ", "))
	return nil
}
