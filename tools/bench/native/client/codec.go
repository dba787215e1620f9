package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ---------------------------------------------------------------------------------------------
// Codec and message

// rawCodec passes bytes through: requests are encoded by hand, responses are not decoded.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// encodeJSONVector encodes score.JsonVector{json: s}: field 1, wire type 2, varint length, bytes.
func encodeJSONVector(s string) []byte {
	out := []byte{0x0a}
	n := uint64(len(s))
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	out = append(out, byte(n))
	return append(out, s...)
}

// defaultPayload is smft's default request (smft/option_table.ts defaultPayload), byte for byte.
func defaultPayload() string {
	parts := make([]string, 64)
	for i := range parts {
		fixed := strconv.FormatFloat(math.Abs(math.Sin(float64(i+1))*10), 'f', 6, 64)
		v, _ := strconv.ParseFloat(fixed, 64)
		parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return `{"model":"score-v1","entity_id":"acct-000042","features":[` + strings.Join(parts, ",") +
		`],"context":{"country":"DE","channel":"web","hour":14}}`
}

// ---------------------------------------------------------------------------------------------
// Status codes, as grpc-js and the results files name them

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

func codeName(c codes.Code) string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return strconv.Itoa(int(c))
}

// errCode maps a dial or call error to a status code name.
func errCode(err error) string {
	var ce *connectError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "DEADLINE_EXCEEDED"
	}
	if errors.Is(err, context.Canceled) {
		return "CANCELLED"
	}
	if s, ok := status.FromError(err); ok {
		return codeName(s.Code())
	}
	return "UNAVAILABLE"
}
