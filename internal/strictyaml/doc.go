// Package strictyaml is the one strict YAML walker of the module: scenarios and cache
// configs are both read through it, so that both report a problem the same way, as
// FILE:LINE: FIELD: PROBLEM.
//
// A Walker reads a yaml.Node tree: exactly one document (Document), mappings whose keys
// must be known, distinct, plain names (Fields, Mapping; an unknown one gets a
// did-you-mean), lists (Sequence) and single values of an expected kind (Scalar). It
// follows aliases within a node budget, so a hostile file cannot make it work for long,
// and records the line of every field it reads (Lines), so that later checks can still
// point at the file.
//
// It imports only go.yaml.in/yaml/v3 and the standard library: it sits on the ground floor,
// below scenarios and internal/cache, and links nothing that talks to Redis or a database.
package strictyaml
