from brownout.cli import main

raise SystemExit(main())
