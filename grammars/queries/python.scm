; Definitions in Python: the whole node is @definition.<kind>, its name @name.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
