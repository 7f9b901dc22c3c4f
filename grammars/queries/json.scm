; "Definitions" in JSON: object members, named by their key (the innermost one encloses an edit).
(pair key: (string (string_content) @name)) @definition.class
