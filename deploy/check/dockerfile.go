package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// checkDockerfile parses a Dockerfile with BuildKit's parser and instruction parser, with its
// linter's rules on (FromAsCasing, MaintainerDeprecated, StageNameCasing, ...). Every parser
// warning and lint finding counts as a problem.
func checkDockerfile(file string) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ast, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return err
	}
	var problems []string
	for _, w := range ast.Warnings {
		problems = append(problems, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		problems = append(problems, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
	}})
	stages, _, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	names := make([]string, len(stages))
	for i, s := range stages {
		names[i] = s.Name
		if names[i] == "" {
			names[i] = fmt.Sprintf("#%d", i)
		}
	}
	fmt.Printf("%d stages: %s\n", len(stages), strings.Join(names, ", "))
	return nil
}
