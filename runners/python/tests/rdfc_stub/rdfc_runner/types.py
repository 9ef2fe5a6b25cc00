class AttrDict(dict):
    """As 1.0.0's: keys read as attributes, a missing one as None."""

    def __getattr__(self, item):
        try:
            return self[item]
        except KeyError:
            return None

    def __setattr__(self, key, value):
        self[key] = value
