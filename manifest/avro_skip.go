package manifest

// minSize is the least number of bytes a value of type s takes. A type whose
// minimum is zero (null, fixed(0), records of such) always takes zero bytes.
func minSize(s *avroSchema) int {
	switch s.kind {
	case kindNull:
		return 0
	case kindFloat:
		return 4
	case kindDouble:
		return 8
	case kindFixed:
		return s.size
	case kindRecord:
		n := 0
		for _, f := range s.fields {
			n += minSize(f.typ)
			if n > 1<<20 {
				return n
			}
		}
		return n
	}
	return 1
}

// skipper compiles a function that skips one value of writer type s. It is
// used for fields Tarn does not know, which newer Paimon releases may add.
func skipper(s *avroSchema) func(d *decoder) {
	switch s.kind {
	case kindNull:
		return func(*decoder) {}
	case kindBoolean:
		return func(d *decoder) { d.skip(1) }
	case kindInt, kindLong, kindEnum:
		return func(d *decoder) { d.long() }
	case kindFloat:
		return func(d *decoder) { d.skip(4) }
	case kindDouble:
		return func(d *decoder) { d.skip(8) }
	case kindBytes, kindString:
		return func(d *decoder) { d.skip(d.length()) }
	case kindFixed:
		n := s.size
		return func(d *decoder) { d.skip(n) }
	case kindRecord:
		fs := make([]func(*decoder), 0, len(s.fields))
		for _, f := range s.fields {
			if minSize(f.typ) == 0 {
				continue
			}
			fs = append(fs, skipper(f.typ))
		}
		return func(d *decoder) {
			for _, f := range fs {
				f(d)
			}
		}
	case kindUnion:
		bs := make([]func(*decoder), len(s.branches))
		for i, b := range s.branches {
			bs[i] = skipper(b)
		}
		return func(d *decoder) {
			i := d.long()
			if i < 0 || i >= int64(len(bs)) {
				d.fail("union index %d out of range", i)
				return
			}
			bs[i](d)
		}
	case kindArray:
		return blockSkipper(skipper(s.items), minSize(s.items))
	case kindMap:
		value := skipper(s.values)
		entry := func(d *decoder) { d.skip(d.length()); value(d) }
		return blockSkipper(entry, 1+minSize(s.values))
	}
	return func(d *decoder) { d.fail("cannot skip a value of type %v", s.kind) }
}

func blockSkipper(item func(*decoder), itemSize int) func(d *decoder) {
	return func(d *decoder) {
		for d.err == nil {
			n, size := d.blockCount(itemSize)
			if n == 0 {
				return
			}
			if size >= 0 {
				d.skip(int(size))
				continue
			}
			if itemSize == 0 {
				continue // items of this type take no bytes
			}
			for i := 0; i < n; i++ {
				item(d)
			}
		}
	}
}
