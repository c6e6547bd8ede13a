package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cityhub/cityhub"
)

// A raw reading as the store keeps it: observation time in ms since the
// epoch and its values.
type raw struct {
	ts   int64
	vals []cityhub.Value
}

// sameValues tells an exact duplicate (the same keys, kinds and values,
// in any order) from a conflicting reading at the same time.
func sameValues(a, b []cityhub.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// Value kinds on disk.
var kindCodes = map[string]byte{cityhub.KindNumber: 0, cityhub.KindText: 1, cityhub.KindBool: 2}
var kindNames = []string{cityhub.KindNumber, cityhub.KindText, cityhub.KindBool}

func appendValue(b []byte, v cityhub.Value) []byte {
	if v.Kind == cityhub.KindText {
		b = binary.AppendUvarint(b, uint64(len(v.Text)))
		return append(b, v.Text...)
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Num))
}

// A block holds one device's readings within one hour, in time order:
//
//	uvarint number of (key, kind) pairs; each: uvarint length, key, kind byte
//	uvarint number of readings; each: uvarint ms since the previous reading
//	(the first: since the block's start), uvarint number of values, and per
//	value the uvarint index of its pair and the value: 8 bytes of IEEE 754
//	for numbers and booleans, uvarint length and bytes for text.
//
// Three numbers take about 31 bytes a reading.
func encodeBlock(start int64, rs []raw) []byte {
	type pair struct{ key, kind string }
	index := map[pair]int{}
	var pairs []pair
	for _, r := range rs {
		for _, v := range r.vals {
			p := pair{v.Key, v.Kind}
			if _, ok := index[p]; !ok {
				index[p] = len(pairs)
				pairs = append(pairs, p)
			}
		}
	}
	b := make([]byte, 0, 16+len(rs)*(4+10*len(rs[0].vals)))
	b = binary.AppendUvarint(b, uint64(len(pairs)))
	for _, p := range pairs {
		b = binary.AppendUvarint(b, uint64(len(p.key)))
		b = append(b, p.key...)
		b = append(b, kindCodes[p.kind])
	}
	b = binary.AppendUvarint(b, uint64(len(rs)))
	prev := start
	for _, r := range rs {
		b = binary.AppendUvarint(b, uint64(r.ts-prev))
		prev = r.ts
		b = binary.AppendUvarint(b, uint64(len(r.vals)))
		for _, v := range r.vals {
			b = binary.AppendUvarint(b, uint64(index[pair{v.Key, v.Kind}]))
			b = appendValue(b, v)
		}
	}
	return b
}

var errCorrupt = errors.New("corrupt series data")

// decoder reads the encodings of this file, failing on the first short or
// impossible field instead of panicking.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

// count reads a length that must fit in what is left, each item taking
// at least min bytes.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

func (d *decoder) kind() string {
	k := d.bytes(1)
	if d.err != nil {
		return ""
	}
	if int(k[0]) >= len(kindNames) {
		d.err = errCorrupt
		return ""
	}
	return kindNames[k[0]]
}

func (d *decoder) value(key, kind string) cityhub.Value {
	v := cityhub.Value{Key: key, Kind: kind}
	if kind == cityhub.KindText {
		v.Text = string(d.bytes(d.uvarint()))
	} else if b := d.bytes(8); d.err == nil {
		v.Num = math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return v
}

func decodeBlock(start int64, data []byte) ([]raw, error) {
	d := &decoder{b: data}
	pairs := make([]cityhub.Value, d.count(2))
	for i := range pairs {
		pairs[i].Key = string(d.bytes(d.uvarint()))
		pairs[i].Kind = d.kind()
	}
	out := make([]raw, d.count(2))
	ts := start
	for i := range out {
		ts += int64(d.uvarint())
		vals := make([]cityhub.Value, d.count(2))
		for j := range vals {
			p := d.uvarint()
			if p >= uint64(len(pairs)) {
				d.err = errCorrupt
				break
			}
			vals[j] = d.value(pairs[p].Key, pairs[p].Kind)
		}
		out[i] = raw{ts, vals}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return nil, fmt.Errorf("block at %d: %w", start, d.err)
	}
	return out, nil
}

// A log record is one write's new readings, kept until they are in
// blocks and their rollups are merged:
//
//	uvarint number of readings; each: uvarint device, varint ms, uvarint
//	number of values, and per value: uvarint length, key, kind byte, value.
func encodeLog(rs []cityhub.Reading) []byte {
	b := binary.AppendUvarint(make([]byte, 0, len(rs)*48), uint64(len(rs)))
	for _, r := range rs {
		b = binary.AppendUvarint(b, uint64(r.DeviceID))
		b = binary.AppendVarint(b, r.Time.UnixMilli())
		b = binary.AppendUvarint(b, uint64(len(r.Values)))
		for _, v := range r.Values {
			b = binary.AppendUvarint(b, uint64(len(v.Key)))
			b = append(b, v.Key...)
			b = append(b, kindCodes[v.Kind])
			b = appendValue(b, v)
		}
	}
	return b
}

// logReading is a reading read back from the log.
type logReading struct {
	device int64
	raw
}

func decodeLog(data []byte) ([]logReading, error) {
	d := &decoder{b: data}
	out := make([]logReading, d.count(3))
	for i := range out {
		out[i].device = int64(d.uvarint())
		out[i].ts = d.varint()
		vals := make([]cityhub.Value, d.count(2))
		for j := range vals {
			key := string(d.bytes(d.uvarint()))
			vals[j] = d.value(key, d.kind())
		}
		out[i].vals = vals
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errCorrupt
	}
	return out, d.err
}
