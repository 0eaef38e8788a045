// Package strictfields checks Istio objects the way the API server's strict
// field validation does (kubectl apply's default): a field the CRD's
// structural schema does not declare is reported, with a "did you mean"
// when a declared one is one edit away, and a kind or API version the
// CRDs do not serve is reported rather than silently ignored.
//
// bundlegen runs where no Go module cache (and so no CRD file) exists, so
// the schemas are built from what is compiled in: the protobuf descriptors
// of istio.io/api's Go types, from which Istio generates its CRDs, and
// Kubernetes' ObjectMeta for metadata. The tests compare them with the
// CRDs of the same istio.io/api version and with a real kube-apiserver.
package strictfields

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	extensionsv1alpha1 "istio.io/api/extensions/v1alpha1"
	telemetryv1alpha1 "istio.io/api/telemetry/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// shape is what a schema node holds.
type shape int

const (
	// scalar: a string, number or boolean; nothing below it to check.
	scalar shape = iota
	// object: declared fields only.
	object
	// array: every item has the schema elem.
	array
	// mapOf: any keys, every value has the schema elem.
	mapOf
	// anything: unknown fields preserved (google.protobuf.Struct, status).
	anything
)

// Schema is the structural schema of a field.
type Schema struct {
	shape  shape
	fields map[string]*Schema
	elem   *Schema
}

// Fields returns the declared field names of an object schema, sorted.
func (s *Schema) Fields() []string {
	names := make([]string, 0, len(s.fields))
	for n := range s.fields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Kind is an Istio kind whose objects are checked.
type Kind struct {
	Group string
	Kind  string
	// Versions are the API versions the CRD serves.
	Versions []string
	// Schema is the whole object's: apiVersion, kind, metadata, spec, status.
	Schema *Schema
}

// kinds lists the kinds routebundle reads, with the Go types their spec
// is generated from and the versions Istio's CRDs serve (the tests hold
// these against the CRD file).
func kinds() []Kind {
	meta := fromGoType(reflect.TypeFor[metav1.ObjectMeta](), map[reflect.Type]*Schema{})
	obj := func(spec protoreflect.MessageDescriptor) *Schema {
		return &Schema{shape: object, fields: map[string]*Schema{
			"apiVersion": {shape: scalar},
			"kind":       {shape: scalar},
			"metadata":   meta,
			"spec":       fromMessage(spec, map[protoreflect.FullName]*Schema{}),
			// Istio's CRDs preserve unknown fields in status.
			"status": {shape: anything},
		}}
	}
	return []Kind{
		{Group: "extensions.istio.io", Kind: "WasmPlugin", Versions: []string{"v1alpha1"},
			Schema: obj((&extensionsv1alpha1.WasmPlugin{}).ProtoReflect().Descriptor())},
		{Group: "telemetry.istio.io", Kind: "Telemetry", Versions: []string{"v1", "v1alpha1"},
			Schema: obj((&telemetryv1alpha1.Telemetry{}).ProtoReflect().Descriptor())},
	}
}

// wellKnown maps protobuf's well-known types to their JSON shape.
func wellKnown(name protoreflect.FullName) (*Schema, bool) {
	switch name {
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.Any":
		return &Schema{shape: anything}, true
	case "google.protobuf.ListValue":
		return &Schema{shape: array, elem: &Schema{shape: anything}}, true
	case "google.protobuf.Duration", "google.protobuf.Timestamp", "google.protobuf.FieldMask",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
		"google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.FloatValue", "google.protobuf.DoubleValue":
		return &Schema{shape: scalar}, true
	}
	return nil, false
}

// fromMessage builds the schema of a message's JSON form: its fields by
// JSON name (Istio's CRDs use them), maps, lists and nested messages.
func fromMessage(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*Schema) *Schema {
	if s, ok := wellKnown(md.FullName()); ok {
		return s
	}
	if s, ok := seen[md.FullName()]; ok {
		return s // a recursive message
	}
	s := &Schema{shape: object, fields: map[string]*Schema{}}
	seen[md.FullName()] = s
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		s.fields[fd.JSONName()] = fromField(fd, seen)
	}
	return s
}

func fromField(fd protoreflect.FieldDescriptor, seen map[protoreflect.FullName]*Schema) *Schema {
	switch {
	case fd.IsMap():
		return &Schema{shape: mapOf, elem: fromValue(fd.MapValue(), seen)}
	case fd.IsList():
		return &Schema{shape: array, elem: fromValue(fd, seen)}
	}
	return fromValue(fd, seen)
}

// fromValue is the schema of one value of fd (an item of a list, a map's value).
func fromValue(fd protoreflect.FieldDescriptor, seen map[protoreflect.FullName]*Schema) *Schema {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return fromMessage(fd.Message(), seen)
	}
	return &Schema{shape: scalar}
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// fromGoType builds the schema of a Kubernetes API type's JSON form from
// its json tags. Types with their own JSON encoding (metav1.Time,
// FieldsV1) are taken as they come.
func fromGoType(t reflect.Type, seen map[reflect.Type]*Schema) *Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return &Schema{shape: anything}
	}
	switch t.Kind() {
	case reflect.Struct:
		if s, ok := seen[t]; ok {
			return s
		}
		s := &Schema{shape: object, fields: map[string]*Schema{}}
		seen[t] = s
		addStructFields(s, t, seen)
		return s
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &Schema{shape: scalar} // []byte is base64
		}
		return &Schema{shape: array, elem: fromGoType(t.Elem(), seen)}
	case reflect.Map:
		return &Schema{shape: mapOf, elem: fromGoType(t.Elem(), seen)}
	case reflect.Interface:
		return &Schema{shape: anything}
	}
	return &Schema{shape: scalar}
}

func addStructFields(s *Schema, t reflect.Type, seen map[reflect.Type]*Schema) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			inner := f.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				addStructFields(s, inner, seen)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = fromGoType(f.Type, seen)
	}
}
