package dev.riffle.runner;

import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * The raw Java links for `riffle bench java`'s baselines, with none of Riffle's channel machinery: the best
 * simple program for each. Over TCP, a reader or writer of length-prefixed frames that writes 1 MiB per call
 * (as the channel's writer hands the socket its whole queue) and parses frames where one 256 KiB read put
 * them; in one JVM, a bounded {@link ArrayBlockingQueue} of the Java memory channel's size, drained in
 * batches.
 *
 * <pre>
 * java -cp riffle-runner-java.jar dev.riffle.runner.RawLink read            prints its address, then the count
 * java -cp riffle-runner-java.jar dev.riffle.runner.RawLink write ADDR SIZE N
 * java -cp riffle-runner-java.jar dev.riffle.runner.RawLink queue SIZE N    prints the nanoseconds taken
 * </pre>
 */
public final class RawLink {
    /** Bytes written per call. */
    private static final int WRITE = 1 << 20;
    /** Bytes read per call. */
    private static final int READ = 256 * 1024;
    /** Messages the queue holds: the Java memory channel's bound ({@code Inbox}). */
    private static final int QUEUE = 4096;

    private RawLink() {}

    /** Counts frames to the end of the stream, parsing them in the read buffer. */
    private static long readFrames(InputStream in) throws java.io.IOException {
        byte[] buf = new byte[2 * READ];
        int start = 0;
        int end = 0;
        long got = 0;
        while (true) {
            while (end - start >= 5) {
                int len = ((buf[start] & 0xff) << 24) | ((buf[start + 1] & 0xff) << 16)
                        | ((buf[start + 2] & 0xff) << 8) | (buf[start + 3] & 0xff);
                if (end - start < 5 + len) {
                    break;
                }
                start += 5 + len;
                got++;
            }
            if (buf.length - end < READ) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
                if (buf.length - end < READ) {
                    buf = java.util.Arrays.copyOf(buf, end + READ);
                }
            }
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) {
                return got;
            }
            end += n;
        }
    }

    /** Moves {@code n} messages of {@code size} bytes from one thread to another; returns the nanoseconds. */
    private static long queue(int size, long n) throws InterruptedException {
        byte[] payload = new byte[size];
        ArrayBlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(QUEUE);
        long[] got = {0};
        Thread reader = new Thread(() -> {
            ArrayList<byte[]> taken = new ArrayList<>(QUEUE);
            try {
                while (got[0] < n) {
                    taken.add(queue.take());
                    queue.drainTo(taken);
                    got[0] += taken.size();
                    taken.clear();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long start = System.nanoTime();
        reader.start();
        for (long i = 0; i < n; i++) {
            queue.put(payload);
        }
        reader.join();
        long elapsed = System.nanoTime() - start;
        if (got[0] != n) {
            throw new IllegalStateException("the queue's reader got " + got[0] + " of " + n + " messages");
        }
        return elapsed;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("read")) {
            try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                System.out.println("127.0.0.1:" + server.getLocalPort());
                System.out.flush();
                try (Socket s = server.accept()) {
                    System.out.println(readFrames(s.getInputStream()));
                }
            }
        } else if (args.length == 4 && args[0].equals("write")) {
            String addr = args[1];
            int colon = addr.lastIndexOf(':');
            int size = Integer.parseInt(args[2]);
            long n = Long.parseLong(args[3]);
            byte[] payload = new byte[size];
            byte[] head = {(byte) (size >>> 24), (byte) (size >>> 16), (byte) (size >>> 8), (byte) size, 5};
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1))));
                s.setTcpNoDelay(true);
                OutputStream out = new BufferedOutputStream(s.getOutputStream(), WRITE);
                long start = System.nanoTime();
                for (long i = 0; i < n; i++) {
                    out.write(head);
                    out.write(payload);
                }
                out.flush();
                s.shutdownOutput();
                // The reader closes once it has read everything: then the transfer is over.
                s.getInputStream().read();
                System.out.println(System.nanoTime() - start);
            }
        } else if (args.length == 3 && args[0].equals("queue")) {
            System.out.println(queue(Integer.parseInt(args[1]), Long.parseLong(args[2])));
        } else {
            System.err.println("usage: RawLink read | RawLink write ADDR SIZE N | RawLink queue SIZE N");
            System.exit(2);
        }
    }
}
