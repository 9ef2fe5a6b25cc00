// A connector-architecture processor that prints the arguments it was given, as JSON.
export function show(repeated, list, single) {
  console.log("repeated " + JSON.stringify(repeated));
  console.log("list " + JSON.stringify(list));
  console.log("single " + JSON.stringify(single));
}
