package dev.riffle.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A runner started by hand reads the secret from the file riffle names (RIFFLE_SECRET_FILE). */
class SecretFileTest {
    private static final String SECRET = "ab".repeat(32);

    @Test
    void theSecretIsTheFilesFirstLine(@TempDir Path folder) throws Exception {
        Path file = folder.resolve("run.secret");
        Files.writeString(file, SECRET + "\n");
        assertEquals(SECRET, Main.secretFromFile(file.toString()));
    }

    @Test
    void anEmptyOrMissingFileIsAnErrorNamingIt(@TempDir Path folder) throws Exception {
        Path file = folder.resolve("run.secret");
        Files.writeString(file, "");
        IllegalArgumentException empty =
                assertThrows(IllegalArgumentException.class, () -> Main.secretFromFile(file.toString()));
        assertEquals("RIFFLE_SECRET_FILE=" + file + " is empty; it should hold the run's secret on its first line",
                empty.getMessage());
        Path missing = folder.resolve("missing.secret");
        IllegalArgumentException gone =
                assertThrows(IllegalArgumentException.class, () -> Main.secretFromFile(missing.toString()));
        assertEquals("RIFFLE_SECRET_FILE=" + missing + " cannot be read: " + missing, gone.getMessage());
    }
}
