package cost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// dimToMap returns a dimension as LLMeter's to_dict does: its fields and
// "_type".
func dimToMap(d Dimension) (map[string]any, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("cost: dimension %s is not a JSON object: %w", d.Type(), err)
	}
	m["_type"] = d.Type()
	return m, nil
}

// ToMap returns the model in LLMeter's format:
// {"_type": "CostModel", "request_dims": {…}, "run_dims": {…}}.
func (m *CostModel) ToMap() (map[string]any, error) {
	req := map[string]any{}
	for name, d := range m.RequestDims {
		dm, err := dimToMap(d)
		if err != nil {
			return nil, err
		}
		req[name] = dm
	}
	run := map[string]any{}
	for name, d := range m.RunDims {
		dm, err := dimToMap(d)
		if err != nil {
			return nil, err
		}
		run[name] = dm
	}
	return map[string]any{"_type": "CostModel", "request_dims": req, "run_dims": run}, nil
}

// MarshalJSON writes LLMeter's cost model format, "_type" first in every
// object.
func (m *CostModel) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"_type": "CostModel"`)
	for _, group := range []struct {
		key  string
		dims map[string]Dimension
	}{{"request_dims", asDims(m.RequestDims)}, {"run_dims", asDims(m.RunDims)}} {
		fmt.Fprintf(&b, `, %q: {`, group.key)
		for i, name := range slices.Sorted(maps.Keys(group.dims)) {
			d := group.dims[name]
			fields, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("cost: %s: %w", name, err)
			}
			if len(fields) < 2 || fields[0] != '{' {
				return nil, fmt.Errorf("cost: dimension %s is not a JSON object", name)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			key, _ := json.Marshal(name)
			typ, _ := json.Marshal(d.Type())
			b.Write(key)
			b.WriteString(`: {"_type": `)
			b.Write(typ)
			if len(fields) > 2 {
				b.WriteString(", ")
				b.Write(fields[1:])
			} else {
				b.WriteByte('}')
			}
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func asDims[D Dimension](m map[string]D) map[string]Dimension {
	out := make(map[string]Dimension, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// UnmarshalJSON reads LLMeter's cost model format.
func (m *CostModel) UnmarshalJSON(data []byte) error {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("cost: decode cost model: %w", err)
	}
	got, err := FromMap(raw)
	if err != nil {
		return err
	}
	m.RequestDims, m.RunDims = got.RequestDims, got.RunDims
	return nil
}

// FromMap builds a cost model from LLMeter's format. A dimension without
// "_type" (LLMeter's run_config.json saves none) is typed by its name when
// that is a dimension type, else by its fields when they tell (a
// price_per_hour and granularity_secs are an EndpointTime).
func FromMap(raw map[string]any) (*CostModel, error) {
	if t, ok := raw["_type"]; ok && t != "CostModel" {
		return nil, fmt.Errorf("cost: _type %v is not CostModel", t)
	}
	for k := range raw {
		switch k {
		case "_type", "request_dims", "run_dims":
		default:
			return nil, fmt.Errorf("cost: unknown cost model field %q", k)
		}
	}
	m := &CostModel{RequestDims: map[string]RequestDimension{}, RunDims: map[string]RunDimension{}}
	for _, group := range []string{"request_dims", "run_dims"} {
		g, ok := raw[group]
		if !ok || g == nil {
			continue
		}
		dims, ok := g.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("cost: %s is not an object", group)
		}
		for name, v := range dims {
			dm, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("cost: %s.%s is not an object", group, name)
			}
			d, err := dimFromMap(name, dm)
			if err != nil {
				return nil, fmt.Errorf("cost: %s.%s: %w", group, name, err)
			}
			switch group {
			case "request_dims":
				rd, ok := d.(RequestDimension)
				if !ok {
					return nil, fmt.Errorf("cost: %s.%s: %s is not a request dimension", group, name, d.Type())
				}
				m.RequestDims[name] = rd
			default:
				rd, ok := d.(RunDimension)
				if !ok {
					return nil, fmt.Errorf("cost: %s.%s: %s is not a run dimension", group, name, d.Type())
				}
				m.RunDims[name] = rd
			}
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func dimFromMap(name string, raw map[string]any) (Dimension, error) {
	fields := maps.Clone(raw)
	typ, _ := fields["_type"].(string)
	delete(fields, "_type")
	if typ == "" {
		typ = inferType(name, fields)
		if typ == "" {
			return nil, fmt.Errorf("no _type, and the fields do not tell the dimension type")
		}
	}
	d, ok := newDimension(typ)
	if !ok {
		return nil, fmt.Errorf("unknown dimension type %q", typ)
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // LLMeter's constructors refuse unknown arguments too
	if err := dec.Decode(d); err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	return d, nil
}

func inferType(name string, fields map[string]any) string {
	if _, ok := newDimension(name); ok {
		return name
	}
	has := func(k string) bool { _, ok := fields[k]; return ok }
	switch {
	case has("price_per_hour") && has("instance_type"):
		return "SageMakerRTEndpointCompute"
	case has("price_per_hour"):
		return "EndpointTime"
	case has("gbs_provisioned"):
		return "SageMakerRTEndpointStorage"
	}
	return ""
}

// Save writes the model to a JSON file (LLMeter's save_to_file), creating
// parent folders.
func (m *CostModel) Save(path string) error {
	b, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "    "); err != nil {
		return fmt.Errorf("cost: save %s: %w", path, err)
	}
	out.WriteByte('\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cost: save %s: %w", path, err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cost: save %s: %w", path, err)
	}
	return nil
}

// Load reads a cost model file written by Save or by LLMeter.
func Load(path string) (*CostModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cost: %w", err)
	}
	m := &CostModel{}
	if err := m.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("cost: %s: %w", path, err)
	}
	return m, nil
}
