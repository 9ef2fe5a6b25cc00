package dev.riffle.runner;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The raw Java half of a TCP link, for `riffle bench java`'s baselines: the simplest careful hand-written
 * reader or writer of length-prefixed frames (256 KiB buffers), with none of Riffle's channel machinery.
 *
 * <pre>
 * java -cp riffle-runner-java.jar dev.riffle.runner.RawLink read            prints its address, then the count
 * java -cp riffle-runner-java.jar dev.riffle.runner.RawLink write ADDR SIZE N
 * </pre>
 */
public final class RawLink {
    private RawLink() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("read")) {
            try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                System.out.println("127.0.0.1:" + server.getLocalPort());
                System.out.flush();
                try (Socket s = server.accept()) {
                    DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 256 * 1024));
                    byte[] body = new byte[0];
                    long got = 0;
                    while (true) {
                        int len;
                        try {
                            len = in.readInt();
                        } catch (EOFException e) {
                            break;
                        }
                        in.readByte();
                        if (body.length < len) {
                            body = new byte[len];
                        }
                        in.readFully(body, 0, len);
                        got++;
                    }
                    System.out.println(got);
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
                OutputStream out = new BufferedOutputStream(s.getOutputStream(), 256 * 1024);
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
        } else {
            System.err.println("usage: RawLink read | RawLink write ADDR SIZE N");
            System.exit(2);
        }
    }
}
