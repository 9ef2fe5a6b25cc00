// RDF/JS terms and quads for arguments the plan gives as JSON (`{"@quads": [...]}`, an rdfl:CBD
// argument). Their own fields are what RDF/JS data factories give (termType, value, language,
// datatype), so JSON.stringify shows them as RDF-Connect's runner does; equals() as RDF/JS defines it.

class Term {
  constructor(termType, value) {
    this.termType = termType;
    this.value = value;
  }

  equals(other) {
    return !!other && other.termType === this.termType && other.value === this.value;
  }
}

class Literal extends Term {
  constructor(value, language, datatype) {
    super("Literal", value);
    this.language = language;
    this.datatype = datatype;
  }

  equals(other) {
    return super.equals(other) && other.language === this.language && this.datatype.equals(other.datatype);
  }
}

class Quad {
  constructor(subject, predicate, object, graph) {
    this.termType = "Quad";
    this.subject = subject;
    this.predicate = predicate;
    this.object = object;
    this.graph = graph;
  }

  equals(other) {
    return !!other && other.termType === "Quad" && this.subject.equals(other.subject) &&
      this.predicate.equals(other.predicate) && this.object.equals(other.object) && this.graph.equals(other.graph);
  }
}

export function termFromJson(json) {
  if (json.termType === "Literal") {
    return new Literal(json.value, json.language ?? "", termFromJson(json.datatype));
  }
  return new Term(json.termType, json.value ?? "");
}

export function quadsFromJson(list) {
  return list.map((q) => new Quad(termFromJson(q.subject), termFromJson(q.predicate), termFromJson(q.object), termFromJson(q.graph)));
}
