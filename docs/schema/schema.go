// Package schema holds the JSON Schema of tcpprobe's output
// (result-v1.json: a --json document or one --ndjson line) and a validator
// for tests. The schema file is the contract; this package only serves it.
package schema

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ResultV1 is the JSON Schema of schema "tcpprobe/v1" (draft 2020-12).
//
//go:embed result-v1.json
var ResultV1 []byte

// id is the schema's $id.
const id = "https://github.com/tcpprobe/tcpprobe/docs/schema/result-v1.json"

// Compile returns the compiled schema, asserting formats (date-time, ipv4,
// ipv6).
func Compile() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ResultV1))
	if err != nil {
		return nil, fmt.Errorf("result-v1.json is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
}

// Validate checks one JSON value (a --json document or an --ndjson line)
// against the schema.
func Validate(data []byte) error {
	sch, err := Compile()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(v)
}
