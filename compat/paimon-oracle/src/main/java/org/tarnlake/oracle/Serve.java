package org.tarnlake.oracle;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The oracle as a server: one JVM runs command after command, so a test suite pays the JVM's
 * start-up and warm-up once instead of per command. Each request and response is framed on
 * the process's stdin and stdout:
 *
 * <pre>
 * request:  "N LEN\n", then N lines (the command's arguments, no newline in any), then LEN bytes (its stdin)
 * response: "CODE OUTLEN ERRLEN\n", then OUTLEN bytes of stdout, then ERRLEN bytes of stderr
 * </pre>
 *
 * CODE is the exit code the command would have had on its own. The server ends at the end of
 * its input. Commands run one at a time; run several servers for parallelism.
 */
final class Serve {
    private Serve() {}

    static void run() throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));
        OutputStream out = new java.io.FileOutputStream(java.io.FileDescriptor.out);
        PrintStream realErr = System.err;
        // Between requests, stray output (a thread of a previous command) goes to stderr,
        // never into the framed stdout.
        System.setOut(realErr);
        while (true) {
            String header = line(in);
            if (header == null) {
                return;
            }
            String[] h = header.split(" ");
            if (h.length != 2) {
                throw new IOException("bad request header: " + header);
            }
            String[] argv = new String[Integer.parseInt(h[0])];
            for (int i = 0; i < argv.length; i++) {
                argv[i] = line(in);
                if (argv[i] == null) {
                    throw new EOFException("request ends within its arguments");
                }
            }
            byte[] stdin = new byte[Integer.parseInt(h[1])];
            in.readFully(stdin);

            ByteArrayOutputStream ob = new ByteArrayOutputStream();
            ByteArrayOutputStream eb = new ByteArrayOutputStream();
            PrintStream po = new PrintStream(ob, true, StandardCharsets.UTF_8);
            PrintStream pe = new PrintStream(eb, true, StandardCharsets.UTF_8);
            System.setOut(po);
            System.setErr(pe);
            System.setIn(new ByteArrayInputStream(stdin));
            int code;
            try {
                code = Main.execute(argv);
            } finally {
                po.flush();
                pe.flush();
                System.setOut(realErr);
                System.setErr(realErr);
            }
            byte[] o = ob.toByteArray();
            byte[] e = eb.toByteArray();
            out.write((code + " " + o.length + " " + e.length + "\n").getBytes(StandardCharsets.UTF_8));
            out.write(o);
            out.write(e);
            out.flush();
        }
    }

    /** A line without its newline (UTF-8), or null at the end of the input. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                if (b.size() == 0) {
                    return null;
                }
                throw new EOFException("request ends within a line");
            }
            b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }
}
