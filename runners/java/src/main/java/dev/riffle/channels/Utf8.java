package dev.riffle.channels;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 validation of text messages, with a fast path for ASCII. */
final class Utf8 {
    private Utf8() {}

    /** Null when valid, else what is wrong. */
    static String check(byte[] b, int off, int len) {
        int end = off + len;
        int i = off;
        while (i < end && b[i] >= 0) {
            i++;
        }
        if (i == end) {
            return null;
        }
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b, i, end - i));
            return null;
        } catch (CharacterCodingException e) {
            return "invalid UTF-8 (" + e + ")";
        }
    }
}
