"""mediaopt's compiled core (private: import the public names from ``mediaopt``)."""
