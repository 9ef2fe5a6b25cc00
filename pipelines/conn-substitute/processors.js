// Connector-architecture function processors: positional arguments; readers offer data(cb) and
// on("end"), writers push() and end(). A returned function runs when the pipeline starts.
import { readFile, writeFile as write } from "node:fs/promises";

export function readLines(path, output) {
  return async () => {
    const text = await readFile(path, "utf8");
    for (const line of text.split("\n").filter((l) => l.length > 0)) {
      await output.push(line);
    }
    await output.end();
  };
}

export function substitute(input, output, source, replace, regexp) {
  const pattern = regexp ? new RegExp(source, "g") : source;
  input.data((message) => output.push(message.replaceAll(pattern, replace)));
  input.on("end", () => output.end());
}

export function writeFile(input, path) {
  const lines = [];
  input.data((line) => lines.push(line));
  input.on("end", () => write(path, lines.join("\n") + "\n"));
}
