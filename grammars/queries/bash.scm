; Definitions in Bash: shell functions.
(function_definition name: (word) @name) @definition.function
