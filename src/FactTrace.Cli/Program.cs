using FactTrace.Cli;

// The `facttrace` command: a thin layer that parses options, calls the library and prints.
return Cli.Run(CliApp.BuildRoot(), args);
