package org.tarnlake.oracle;

import org.apache.paimon.Snapshot;
import org.apache.paimon.data.BinaryRow;
import org.apache.paimon.fs.FileIO;
import org.apache.paimon.fs.FileStatus;
import org.apache.paimon.fs.Path;
import org.apache.paimon.index.IndexFileMeta;
import org.apache.paimon.io.DataFileMeta;
import org.apache.paimon.manifest.FileEntry;
import org.apache.paimon.manifest.FileKind;
import org.apache.paimon.manifest.IndexManifestEntry;
import org.apache.paimon.manifest.IndexManifestFile;
import org.apache.paimon.manifest.ManifestEntry;
import org.apache.paimon.manifest.ManifestFile;
import org.apache.paimon.manifest.ManifestFileMeta;
import org.apache.paimon.manifest.ManifestList;
import org.apache.paimon.schema.TableSchema;
import org.apache.paimon.table.FileStoreTable;
import org.apache.paimon.utils.FileStorePathFactory;
import org.apache.paimon.utils.JsonSerdeUtil;

import java.io.FileNotFoundException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Opens every snapshot, tag, schema, manifest list, manifest, index manifest and changelog manifest
 * with Paimon's own code, checks that each referenced file exists with its recorded size and that
 * the row and file counts agree, then batch-reads the latest snapshot.
 */
public final class Check {
    private final FileStoreTable table;
    private final FileIO io;
    private final Path root;
    private final List<String> problems = new ArrayList<>();
    private final Map<String, Long> sizes = new HashMap<>(); // path -> size, checked files
    private final Map<String, List<ManifestEntry>> manifests = new HashMap<>();
    private final ManifestList manifestList;
    private final ManifestFile manifestFile;
    private final IndexManifestFile indexManifestFile;
    private final FileStorePathFactory pathFactory;
    private int manifestLists;
    private int dataFiles;
    private int changelogFiles;
    private int indexFiles;

    public Check(FileStoreTable table) {
        this.table = table;
        this.io = table.fileIO();
        this.root = table.location();
        this.manifestList = table.store().manifestListFactory().create();
        this.manifestFile = table.store().manifestFileFactory().create();
        this.indexManifestFile = table.store().indexManifestFileFactory().create();
        this.pathFactory = table.store().pathFactory();
    }

    private void problem(String msg) {
        problems.add(msg);
        if (problems.size() <= 50) {
            System.err.println("check: " + msg);
        }
    }

    /** Returns the summary line, or throws OracleException listing the first problem. */
    public String run(boolean readAll) throws Exception {
        // schemas
        Map<Long, TableSchema> schemas = new TreeMap<>();
        Path schemaDir = new Path(root, "schema");
        for (FileStatus st : list(schemaDir)) {
            String name = st.getPath().getName();
            if (!name.startsWith("schema-")) {
                continue;
            }
            try {
                TableSchema s = JsonSerdeUtil.fromJson(io.readFileUtf8(st.getPath()), TableSchema.class);
                if (!name.equals("schema-" + s.id())) {
                    problem("schema file " + st.getPath() + " holds schema id " + s.id());
                }
                schemas.put(s.id(), s);
            } catch (Exception e) {
                problem("unparseable schema file " + st.getPath() + ": " + msg(e));
            }
        }
        if (schemas.isEmpty()) {
            problem("no schema file under " + schemaDir);
        }

        // snapshots, parsed from every snapshot-N file
        SortedMap<Long, Snapshot> snapshots = new TreeMap<>();
        Path snapDir = new Path(root, "snapshot");
        for (FileStatus st : list(snapDir)) {
            String name = st.getPath().getName();
            if (!name.startsWith("snapshot-")) {
                continue;
            }
            long id;
            try {
                id = Long.parseLong(name.substring("snapshot-".length()));
            } catch (NumberFormatException e) {
                problem("unexpected file in snapshot directory: " + st.getPath());
                continue;
            }
            try {
                Snapshot s = Snapshot.fromJson(io.readFileUtf8(st.getPath()));
                if (s.id() != id) {
                    problem("snapshot file " + st.getPath() + " holds snapshot id " + s.id());
                }
                snapshots.put(id, s);
            } catch (Exception e) {
                problem("unparseable snapshot file " + st.getPath() + ": " + msg(e));
            }
        }
        if (!snapshots.isEmpty()) {
            long first = snapshots.firstKey();
            long last = snapshots.lastKey();
            for (long i = first; i <= last; i++) {
                if (!snapshots.containsKey(i) && !hasProblemAbout("snapshot-" + i)) {
                    problem("snapshot " + i + " missing between " + first + " and " + last
                            + " (" + new Path(snapDir, "snapshot-" + i) + ")");
                }
            }
        }
        for (Snapshot s : snapshots.values()) {
            checkSnapshot(s, "snapshot " + s.id(), schemas);
        }

        // tags
        int tags = 0;
        Path tagDir = new Path(root, "tag");
        for (FileStatus st : list(tagDir)) {
            String name = st.getPath().getName();
            if (!name.startsWith("tag-")) {
                continue;
            }
            tags++;
            try {
                Snapshot s = Snapshot.fromJson(io.readFileUtf8(st.getPath()));
                checkSnapshot(s, "tag " + name.substring(4), schemas);
            } catch (Exception e) {
                problem("unparseable tag file " + st.getPath() + ": " + msg(e));
            }
        }

        // batch read
        long rows = -1;
        String readWhat = "no snapshot";
        if (problems.isEmpty() && !snapshots.isEmpty()) {
            List<Long> ids = new ArrayList<>();
            if (readAll) {
                ids.addAll(snapshots.keySet());
            } else {
                ids.add(snapshots.lastKey());
            }
            for (long id : ids) {
                try {
                    rows = Ops.read(Ops.timeTravel(table, id, null)).size();
                } catch (Exception e) {
                    problem("batch read of snapshot " + id + " failed: " + msg(e));
                    break;
                }
            }
            readWhat = "latest snapshot " + snapshots.lastKey() + " read: " + rows + " rows";
            if (readAll) {
                readWhat = "all " + ids.size() + " snapshots read; " + readWhat;
            }
            Snapshot last = snapshots.get(snapshots.lastKey());
            Long total = totalRecordCount(last);
            boolean dv = "true".equals(table.options().get("deletion-vectors.enabled"));
            if (problems.isEmpty() && table.primaryKeys().isEmpty() && !dv && total != null
                    && rows != total) {
                problem("append table: latest snapshot " + last.id() + " records totalRecordCount "
                        + total + " but the batch read gave " + rows + " rows");
            }
        }

        if (!problems.isEmpty()) {
            throw new Env.OracleException(problems.size() + " problem(s); first: " + problems.get(0));
        }
        return String.format(
                "ok: %d snapshots%s, %d tags, %d schemas, %d manifest lists, %d manifests, %d data files,"
                        + " %d changelog files, %d index files checked; %s",
                snapshots.size(),
                snapshots.isEmpty() ? "" : " (" + snapshots.firstKey() + ".." + snapshots.lastKey() + ")",
                tags, schemas.size(), manifestLists, manifests.size(), dataFiles, changelogFiles,
                indexFiles, readWhat);
    }

    private boolean hasProblemAbout(String s) {
        for (String p : problems) {
            if (p.contains(s)) {
                return true;
            }
        }
        return false;
    }

    private boolean exists(Path p) {
        try {
            return io.exists(p);
        } catch (Exception e) {
            return true; // then read, and reported
        }
    }

    private FileStatus[] list(Path dir) throws Exception {
        if (!io.exists(dir)) {
            return new FileStatus[0];
        }
        return io.listStatus(dir);
    }

    private void checkSnapshot(Snapshot s, String what, Map<Long, TableSchema> schemas) {
        if (!schemas.containsKey(s.schemaId())) {
            problem(what + " names schema " + s.schemaId() + " but " + new Path(root, "schema/schema-" + s.schemaId())
                    + " is missing or unreadable");
        }
        List<ManifestFileMeta> base = readList(s.baseManifestList(), optLong(s, "baseManifestListSize"), what, "base");
        List<ManifestFileMeta> delta = readList(s.deltaManifestList(), optLong(s, "deltaManifestListSize"), what, "delta");
        // A tag keeps its snapshot's data, not its changelog: Paimon's expiry deletes the
        // changelog of a tagged snapshot (FileDeletionBase.manifestSkippingSet), so a tag may
        // name a changelog manifest list that is gone.
        boolean goneTagChangelog = what.startsWith("tag ") && s.changelogManifestList() != null
                && !exists(pathFactory.toManifestListPath(s.changelogManifestList()));
        List<ManifestFileMeta> changelog = s.changelogManifestList() == null || goneTagChangelog ? new ArrayList<>()
                : readList(s.changelogManifestList(), optLong(s, "changelogManifestListSize"), what, "changelog");
        if (base == null || delta == null || changelog == null) {
            return;
        }
        List<ManifestEntry> all = new ArrayList<>();
        for (ManifestFileMeta m : base) {
            List<ManifestEntry> e = readManifest(m, what);
            if (e == null) {
                return;
            }
            all.addAll(e);
        }
        long deltaAdd = 0;
        long deltaDel = 0;
        for (ManifestFileMeta m : delta) {
            List<ManifestEntry> e = readManifest(m, what);
            if (e == null) {
                return;
            }
            all.addAll(e);
            for (ManifestEntry x : e) {
                if (x.kind() == FileKind.ADD) {
                    deltaAdd += x.file().rowCount();
                } else {
                    deltaDel += x.file().rowCount();
                }
            }
        }
        // live files: ADD entries not cancelled by a later DELETE
        Collection<ManifestEntry> live;
        try {
            live = FileEntry.mergeEntries(all);
        } catch (Exception e) {
            problem(what + ": manifest entries do not merge (" + msg(e) + ")");
            return;
        }
        long liveRows = 0;
        for (ManifestEntry e : live) {
            if (e.kind() != FileKind.ADD) {
                problem(what + ": file " + e.fileName() + " is deleted but was never added");
                continue;
            }
            liveRows += e.file().rowCount();
            checkDataFile(e.partition(), e.bucket(), e.file(), what, false);
        }
        Long total = totalRecordCount(s);
        if (total != null && total != liveRows) {
            problem(what + ": totalRecordCount " + total + " but live data files hold " + liveRows + " rows");
        }
        Long deltaCount = optLong(s, "deltaRecordCount");
        if (deltaCount != null && deltaCount != deltaAdd - deltaDel) {
            problem(what + ": deltaRecordCount " + deltaCount + " but delta manifests add " + deltaAdd
                    + " and delete " + deltaDel + " rows");
        }
        long changelogRows = 0;
        for (ManifestFileMeta m : changelog) {
            List<ManifestEntry> e = readManifest(m, what);
            if (e == null) {
                return;
            }
            for (ManifestEntry x : e) {
                changelogRows += x.file().rowCount();
                checkDataFile(x.partition(), x.bucket(), x.file(), what, true);
            }
        }
        Long clCount = s.changelogRecordCount();
        if (s.changelogManifestList() != null && !goneTagChangelog && clCount != null && clCount != changelogRows) {
            problem(what + ": changelogRecordCount " + clCount + " but changelog manifests hold "
                    + changelogRows + " rows");
        }
        if (s.indexManifest() != null) {
            checkIndexManifest(s.indexManifest(), what);
        }
    }

    private List<ManifestFileMeta> readList(String name, Long recordedSize, String what, String kind) {
        if (name == null) {
            problem(what + " has no " + kind + " manifest list");
            return null;
        }
        Path p = pathFactory.toManifestListPath(name);
        if (!checkFile(p, recordedSize, what + " (" + kind + " manifest list)")) {
            return null;
        }
        manifestLists++;
        try {
            return manifestList.read(name);
        } catch (Exception e) {
            problem("corrupt manifest list " + p + " (" + kind + ", " + what + "): " + msg(e));
            return null;
        }
    }

    private List<ManifestEntry> readManifest(ManifestFileMeta m, String what) {
        if (manifests.containsKey(m.fileName())) {
            return manifests.get(m.fileName());
        }
        Path p = pathFactory.toManifestFilePath(m.fileName());
        List<ManifestEntry> entries = null;
        if (checkFile(p, m.fileSize(), what + " (manifest list entry)")) {
            try {
                entries = manifestFile.read(m.fileName(), m.fileSize());
            } catch (Exception e) {
                problem("corrupt manifest " + p + " (" + what + "): " + msg(e));
            }
        }
        if (entries != null) {
            long add = 0;
            long del = 0;
            for (ManifestEntry e : entries) {
                if (e.kind() == FileKind.ADD) {
                    add++;
                } else {
                    del++;
                }
            }
            if (add != m.numAddedFiles() || del != m.numDeletedFiles()) {
                problem("manifest " + p + ": manifest list records " + m.numAddedFiles() + " added / "
                        + m.numDeletedFiles() + " deleted files but it holds " + add + " / " + del);
            }
        }
        manifests.put(m.fileName(), entries);
        return entries;
    }

    private void checkDataFile(BinaryRow partition, int bucket, DataFileMeta f, String what, boolean changelog) {
        Path p = pathFactory.createDataFilePathFactory(partition, bucket).toPath(f);
        String key = p.toString();
        if (!sizes.containsKey(key)) {
            if (changelog) {
                changelogFiles++;
            } else {
                dataFiles++;
            }
        }
        checkFile(p, f.fileSize(), what + (changelog ? " (changelog file)" : " (data file)"));
        for (String extra : f.extraFiles()) {
            checkFile(new Path(p.getParent(), extra), null, what + " (extra file of " + f.fileName() + ")");
        }
    }

    private void checkIndexManifest(String name, String what) {
        Path p = pathFactory.indexManifestFileFactory().toPath(name);
        if (!checkFile(p, null, what + " (index manifest)")) {
            return;
        }
        List<IndexManifestEntry> entries;
        try {
            entries = indexManifestFile.read(name);
        } catch (Exception e) {
            problem("corrupt index manifest " + p + " (" + what + "): " + msg(e));
            return;
        }
        for (IndexManifestEntry e : entries) {
            if (e.kind() != FileKind.ADD) {
                problem("index manifest " + p + " holds a DELETE entry for " + e.indexFile().fileName());
                continue;
            }
            Path ip;
            try {
                ip = indexFilePath(e.partition(), e.bucket(), e.indexFile());
            } catch (Exception ex) {
                problem("cannot resolve index file " + e.indexFile().fileName() + ": " + msg(ex));
                continue;
            }
            if (!sizes.containsKey(ip.toString())) {
                indexFiles++;
            }
            checkFile(ip, e.indexFile().fileSize(), what + " (" + e.indexFile().indexType() + " index file)");
        }
    }

    /** Index file path; the path factory API differs between Paimon 1.0 and later. */
    private Path indexFilePath(BinaryRow partition, int bucket, IndexFileMeta meta) throws Exception {
        Object factory;
        try {
            Method m = FileStorePathFactory.class.getMethod("indexFileFactory", BinaryRow.class, int.class);
            factory = m.invoke(pathFactory, partition, bucket);
        } catch (NoSuchMethodException e) {
            factory = FileStorePathFactory.class.getMethod("indexFileFactory").invoke(pathFactory);
        }
        try {
            Method m = factory.getClass().getMethod("toPath", IndexFileMeta.class);
            m.setAccessible(true);
            return (Path) m.invoke(factory, meta);
        } catch (NoSuchMethodException e) {
            Method m = factory.getClass().getMethod("toPath", String.class);
            m.setAccessible(true);
            return (Path) m.invoke(factory, meta.fileName());
        }
    }

    /** Exists and, when known, has the recorded size. */
    private boolean checkFile(Path p, Long recordedSize, String referencedBy) {
        String key = p.toString();
        Long size = sizes.get(key);
        if (size == null) {
            try {
                size = io.getFileSize(p);
            } catch (FileNotFoundException e) {
                size = -1L;
            } catch (Exception e) {
                if (!safeExists(p)) {
                    size = -1L;
                } else {
                    problem("cannot stat " + p + ": " + msg(e));
                    return false;
                }
            }
            sizes.put(key, size);
        }
        if (size < 0) {
            problem("missing file " + p + " (referenced by " + referencedBy + ")");
            return false;
        }
        if (recordedSize != null && recordedSize != (long) size) {
            problem("size mismatch " + p + ": recorded " + recordedSize + " bytes, found " + size
                    + " (referenced by " + referencedBy + ")");
            return false;
        }
        return true;
    }

    private boolean safeExists(Path p) {
        try {
            return io.exists(p);
        } catch (Exception e) {
            return false;
        }
    }

    static Long totalRecordCount(Snapshot s) {
        return optLong(s, "totalRecordCount");
    }

    /** A Long-valued accessor that some Paimon versions lack or type as long. */
    static Long optLong(Object o, String method) {
        try {
            Object v = o.getClass().getMethod(method).invoke(o);
            return v == null ? null : ((Number) v).longValue();
        } catch (NoSuchMethodException e) {
            return null;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    static String msg(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Throwable t = e;
        while (t != null && sb.length() < 600) {
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            t = t.getCause();
        }
        return sb.toString();
    }

}
