package datafile

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func arrowNewRecord(schema *arrow.Schema, b arrow.RecordBatch) arrow.RecordBatch {
	return array.NewRecordBatch(schema, b.Columns(), b.NumRows())
}

// treeNode is a node of a writer's tree of columns, which mirrors a column's type: a
// list's or map's child nodes are its elements, keys and values, a struct's its fields.
type treeNode[N any] interface {
	setArray(arrow.Array)
	kids() []N
}

// bindTree binds a to n, and its child arrays to n's children.
func bindTree[N treeNode[N]](n N, a arrow.Array) error {
	n.setArray(a)
	kids := n.kids()
	switch a := a.(type) {
	case *array.List:
		return bindTree(kids[0], a.ListValues())
	case *array.FixedSizeList:
		return bindTree(kids[0], a.ListValues())
	case *array.Map:
		if err := bindTree(kids[0], a.Keys()); err != nil {
			return err
		}
		return bindTree(kids[1], a.Items())
	case *array.Struct:
		if a.NumField() != len(kids) {
			return fmt.Errorf("struct of %d fields for %d", a.NumField(), len(kids))
		}
		for i, c := range kids {
			if err := bindTree(c, a.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}
